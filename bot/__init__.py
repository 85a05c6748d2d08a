"""goalnudge: keeps OKRs current by asking each person the right question for their role."""
