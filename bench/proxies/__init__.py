"""Hand-written proxies the gateway is compared against (bench/proxy_compare.py)."""
