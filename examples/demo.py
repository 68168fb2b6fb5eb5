"""A small module for `make demo`: the cursor goes on the empty line in the body."""

import math


def circle_area(radius):
    """Return the area of a circle with the given radius."""
    

def main():
    print(circle_area(2.0))
