"""The workspace index (definitions, imports and references of every source
file) and the file watcher that keeps it current."""
