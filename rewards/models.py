"""rewards: built by its own issue; the app exists so the layout and imports are fixed from day one."""
