256 SHA256:HrEKHVioLMeZrmIx8PbYIJ0iF8LK5EHcdv1C4zmaUg4 ferry-test-ecdsa-pem (ECDSA)
