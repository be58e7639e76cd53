"""Test factories and fixtures shared by the test suite (mitmproxy's ``test/tflow.py`` habit)."""
