2048 SHA256:UUSlhXBr5+DI2ddFRVWcuUuDptmY2AE9zh3bEn/KlM8 ferry-test-rsa (RSA)
