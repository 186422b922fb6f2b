"""Publishing a model: the model card, its intervals, and retraining a published model from its manifest."""
