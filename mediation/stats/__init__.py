"""Read side of activity statistics: exact pre-aggregated rollups and the territory dashboard."""
