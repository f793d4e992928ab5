"""IAB TCF use cases: the Global Vendor List the service uses (gvl_source.py), fetched, cached and kept current."""
