"""Results in other tools' formats: TensorBoard event files (`tensorboard`)."""
