"""Tests of the hospital network simulator (a package, so module names never clash)."""
