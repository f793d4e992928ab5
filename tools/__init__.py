"""The project's own tools (not shipped in the package): catalogs' upkeep, the docs' screenshots."""
