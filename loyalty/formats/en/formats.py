# Group by thousands in English too (16,000,000), as Vietnamese does.
NUMBER_GROUPING = 3
