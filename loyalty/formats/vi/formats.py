# Django's Vietnamese formats set the separators but no grouping, so 16000000 would show
# ungrouped; group by thousands (16.000.000). Everything else comes from Django's module.
NUMBER_GROUPING = 3
