"""The promotion gate: a challenger judged against the champion on rows neither trained on."""
