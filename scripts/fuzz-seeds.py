#!/usr/bin/env python3
"""Writes small valid inputs for each fuzz target into Fuzz/Corpus/<target>/seed-*: the starting
points libFuzzer mutates. Run once; the corpus that libFuzzer grows from them is committed."""
import json, os, pickle, struct, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fuzz", "Corpus")

def write(target, name, data):
    folder = os.path.join(root, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)

# Pickles as the official SR-GNN script writes them: sessions, and (prefixes, targets) tuples.
for protocol in (2, 3, 4):
    write("FuzzPickle", f"sessions-p{protocol}", pickle.dumps([[1, 2, 3], [4, 5], [2, 2, 7]], protocol=protocol))
    write("FuzzPickle", f"examples-p{protocol}", pickle.dumps(([[1, 2], [4], [2, 2]], [3, 5, 7]), protocol=protocol))
shared = [9, 8]
write("FuzzPickle", "memo-reuse", pickle.dumps(([shared, shared, [1]], [1, 2, 3]), protocol=4))

# A safetensors file: little-endian header length, JSON header, then the tensors' bytes.
def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    for name, (shape, values) in tensors.items():
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + blob

d, rows = 2, 4
def tensor(shape):
    n = 1
    for s in shape: n *= s
    return (shape, [0.01 * (i % 7) for i in range(n)])
shapes = {"embedding.weight": [rows, d], "gnn.w_ih": [3 * d, 2 * d], "gnn.w_hh": [3 * d, d], "gnn.b_ih": [3 * d],
          "gnn.b_hh": [3 * d], "gnn.b_iah": [d], "gnn.b_oah": [d], "gnn.linear_edge_in.weight": [d, d],
          "gnn.linear_edge_in.bias": [d], "gnn.linear_edge_out.weight": [d, d], "gnn.linear_edge_out.bias": [d],
          "linear_one.weight": [d, d], "linear_one.bias": [d], "linear_two.weight": [d, d], "linear_two.bias": [d],
          "linear_three.weight": [1, d], "linear_transform.weight": [d, 2 * d], "linear_transform.bias": [d]}
write("FuzzSafeTensors", "model", safetensors({k: tensor(v) for k, v in shapes.items()}))
write("FuzzSafeTensors", "one-tensor", safetensors({"embedding.weight": tensor([2, 3])}, {"srgnn": "{}"}))

# Click logs; the first byte picks the format (0 Diginetica, 1 Yoochoose, 2 RecBole, 3 CSV with names).
write("FuzzClickLog", "diginetica", b"\x00sessionId;userId;itemId;timeframe;eventdate\n1;NA;81766;526309;2016-05-09\n1;NA;31331;1031018;2016-05-09\n2;NA;32118;243569;2016-05-09\n")
write("FuzzClickLog", "yoochoose", b"\x011,2014-04-07T10:51:09.277Z,214536502,0\n1,2014-04-07T10:54:09.868Z,214536500,0\n2,2014-04-07T13:56:37.614Z,214662742,0\n")
write("FuzzClickLog", "recbole", b"\x02session_id:token\titem_id:token\ttimestamp:float\n1\t10\t1400000000\n1\t11\t1400000060\n2\t10\t1400000100\n")
write("FuzzClickLog", "csv", b"\x03session,item,time\na,sku-1,1400000000\na,sku-2,1400000060\nb,sku-1,1400000100\n")

# A dataset folder: dataset.json, items.txt, train_sessions.txt, test_examples.txt, NUL-separated.
manifest = {"format": "srgnn-session-dataset", "version": 1, "item_count": 3, "train_sessions": 2,
            "train_examples": 3, "train_example_skip": 0, "test_examples": 1}
write("FuzzDatasetFolder", "folder", b"\x00".join([json.dumps(manifest).encode(), b"a\nb\nc\n", b"1 2 3\n2 3\n", b"1 2\t3\n"]))
# Item catalogues; the first byte picks the format (0 CSV, 1 TSV, 2 JSON lines).
write("FuzzCatalog", "csv", b"\x00\xef\xbb\xbfid,available,category,size\n 1 ,true,shoes,41\n\"2\",0,\"a, b\",41.0\ncaf\xc3\xa9,yes,x,007\ncafe\xcc\x81,no,y,1e400\n")
write("FuzzCatalog", "tsv", b"\x01item_id\tavailable\tcolour\n17\tfalse\tred\n 18 \t\tblue\n")
write("FuzzCatalog", "jsonl", b'\x02{"id": "a", "available": false, "size": 42.0, "tags": ["x", 7]}\n{"id": 17, "size": 1e400, "colour": null, "name": "\\u00e9\\ud83d\\ude00"}\n')
write("FuzzCatalog", "jsonl-repeated-key", b'\x02{"id": "1", "colour": "red", "colour": "blue"}\n')
# Event bodies for POST /v1/events; $ID becomes an id the fuzz target's service signed.
for name, body in [("click", '{"recommendation_id": "$ID", "item": 214826, "type": "click"}'),
                   ("purchase-string-item", '{"recommendation_id": "$ID", "item": "a17", "type": "purchase"}'),
                   ("escaped-item", '{"recommendation_id": "$ID", "item": "\\u0001\\u00e9\\ud83d\\ude00", "type": "click"}'),
                   ("unsigned", '{"recommendation_id": "a.5f0c2a9e8d7b4c3a1f0e9d8c7b6a5f4e", "item": 1, "type": "click"}'),
                   ("forged", '{"recommendation_id": "a.5f0c2a9e8d7b4c3a1f0e9d8c7b6a5f4e.0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f", "item": 1, "type": "click"}'),
                   ("bad-type", '{"recommendation_id": "$ID", "item": 1, "type": "view"}')]:
    write("FuzzEventBody", name, body.encode())
print("seeds written under", os.path.normpath(root))
