"""Vulnerability intelligence: feeds in, matches of devices to advisories out.

- ``vulns.importer.import_paths(paths)`` reads CSAF 2.0, NVD CVE API 2.0, CVE JSON 5, CISA
  KEV (JSON/CSV), EPSS CSV, CycloneDX JSON and MDS2 ``.xlsx`` files from files or folders,
  detecting each format by content (``vulns.feeds.default_feeds()``), into the frozen records
  of ``vulns.model``. Nothing is downloaded.
- ``vulns.matching.match_devices(devices, advisories)`` matches inventory devices by vendor
  (``vendors.yaml`` aliases), model tokens and version ranges (``vulns.versions``), and
  ``annotate`` adds KEV and EPSS; ``vulns.vex`` holds the VEX analysis states.
"""
