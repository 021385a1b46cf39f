256 SHA256:ebyJlJJb7fD9e5g28Mu1dd1sNJzG1eTcTG1QAy++Tkk ferry-test-ed25519-pkcs8 (ED25519)
