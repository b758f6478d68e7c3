"""Team points: the teacher's class screen and the school's point categories."""
