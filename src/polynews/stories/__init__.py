"""Stories: grouping the same event across outlets and languages."""
