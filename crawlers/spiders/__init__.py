"""One spider per stock site (123rf, depositphotos, getty) plus `profile`, driven by params.yaml."""
