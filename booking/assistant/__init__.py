"""The service assistant: routine questions answered from the product's own data."""
