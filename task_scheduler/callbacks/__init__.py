"""Callbacks to the addresses tasks name: delivery, the allowed hosts, the pinned POST."""
