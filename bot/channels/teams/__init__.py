"""Microsoft Teams on botbuilder: the only package that imports the Bot Framework SDK."""

PLATFORM = "teams"  # the kind of a person's Teams id, of inbox rows, of message references
