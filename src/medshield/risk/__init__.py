"""Risk: device and site scores with their factor breakdown, and a prioritised remediation
list (PRODUCT.md capability 6). Pure functions over devices, advisory matches and findings;
the weights are data (``weights.yaml``)."""
