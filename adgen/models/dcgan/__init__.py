"""DCGAN (Radford et al., ICLR 2016): the product's first baseline generator of people."""
