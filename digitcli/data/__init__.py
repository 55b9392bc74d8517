"""Reading digits: MNIST's file formats, labelled datasets, the seed's 28x28 CSVs, labels files and input expansion.

Nothing is imported here, so `digitcli --help` stays light."""
