"""Ask a specialist: cases a person opens for a human, answered by staff on any messenger."""
