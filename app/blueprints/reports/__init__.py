"""Reports on team points for teachers and senior leaders; team totals and the assembly display."""
