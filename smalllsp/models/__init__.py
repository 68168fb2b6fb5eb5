"""The models smalllsp runs: the catalog, the store, and ``model = auto``'s choice among them."""
