"""Other queue extensions: the clashes we detect and the import of their queues."""
