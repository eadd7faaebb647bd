"""The public pages keep no tables of their own: a drawn form's one-time key is a
``members.Submission`` (``members.submissions``)."""
