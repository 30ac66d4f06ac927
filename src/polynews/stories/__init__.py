"""Stories: one event across outlets and languages, and the attributed claims in them."""
