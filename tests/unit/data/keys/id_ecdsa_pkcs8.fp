256 SHA256:2fsXrYtwCMhR0SRLA45+uOTMYaVC10dRpJEi2Y7xzUk ferry-test-ecdsa-pkcs8 (ECDSA)
