"""Reading a user's digits: inputs (files, folders, globs, stdin, request bodies), their formats (digit
CSVs, photos), labels, and the records predictions become. One pipeline serves predict-csv,
predict-image, plot --digits and the API."""
