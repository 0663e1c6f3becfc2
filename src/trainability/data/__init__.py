"""Datasets: the Shapeset-3x2 generator and the finite MNIST / CIFAR-10 datasets."""
