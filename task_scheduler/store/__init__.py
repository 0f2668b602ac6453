"""Where tasks are kept: the store contract and its back-ends, schema and migrations."""
