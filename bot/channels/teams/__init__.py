"""Microsoft Teams on botbuilder: the only package that imports the Bot Framework SDK."""
