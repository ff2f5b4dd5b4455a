@_exported import Evaluation
