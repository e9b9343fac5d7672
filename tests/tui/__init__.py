"""Tests of the Textual client: data layer, Pilot against a real server, snapshots."""
