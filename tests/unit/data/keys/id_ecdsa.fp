256 SHA256:te2lpfn0LRPlow3Q5gAtLTdJ3ipT2t97prF/n5ew21s ferry-test-ecdsa (ECDSA)
