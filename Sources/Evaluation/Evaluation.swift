@_exported import SRGNN
