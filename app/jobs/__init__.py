"""Jobs: the long-running work the CLI, the API and the nightly batch run."""
