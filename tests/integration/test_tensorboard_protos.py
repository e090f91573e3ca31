"""tests/integration/test_tensorboard_protos.py — the project's own .proto
files (proto/, written from the published field numbers) against the
descriptors compiled into the TensorBoard pip package: every message field
lightc declares has the same number, type and label there, and every enum
value the same number. lightc-only messages (EventPreserialized) are
checked to be wire-identical to the message they stand for (every scalar
record lightc writes uses one, and the other tests parse them all).
"""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tb_common import SKIP, cleanup, tmpdir  # noqa: E402
from google.protobuf import descriptor_pb2, struct_pb2  # noqa: E402
from tensorboard.compat.proto import (event_pb2, histogram_pb2, summary_pb2,  # noqa: E402
                                      tensor_pb2, tensor_shape_pb2, types_pb2)
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2  # noqa: E402

SRC = os.environ.get("LC_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
PROTO = os.path.join(SRC, "proto")
MODULES = {"tensorboard": [event_pb2, summary_pb2, histogram_pb2, tensor_pb2,
                           tensor_shape_pb2, types_pb2],
           "tensorboard.hparams": [api_pb2, plugin_data_pb2],
           "google.protobuf": [struct_pb2]}
OURS_ONLY = {"EventPreserialized": ("Event", {"wall_time", "step", "summary"})}


def upstream(package, path):
    """The upstream descriptor of a message path like 'Summary.Value'."""
    head, *rest = path.split(".")
    for mod in MODULES[package]:
        d = mod.DESCRIPTOR.message_types_by_name.get(head)
        if d:
            for part in rest:
                d = d.nested_types_by_name[part]
            return d
    return None


class TestProtos(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        protoc = shutil.which("protoc-c") or shutil.which("protoc")
        if not protoc:
            print("skip: no protoc-c (apt-get install protobuf-c-compiler)")
            sys.exit(SKIP)
        cls.tmp = tmpdir("tb-protos")
        out = os.path.join(cls.tmp, "desc.pb")
        files = sorted(os.path.join(PROTO, f) for f in os.listdir(PROTO) if f.endswith(".proto"))
        subprocess.run([protoc, "--descriptor_set_out=" + out, "-I", PROTO] + files, check=True)
        cls.fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            cls.fds.ParseFromString(f.read())

    @classmethod
    def tearDownClass(cls):
        cleanup(cls.tmp)

    def messages(self):
        def walk(m, prefix):
            yield prefix + m.name, m
            for n in m.nested_type:
                if not n.options.map_entry:
                    yield from walk(n, prefix + m.name + ".")
        for fd in self.fds.file:
            for m in fd.message_type:
                for path, msg in walk(m, ""):
                    yield fd.package, path, msg

    def test_fields_match_upstream(self):
        checked = 0
        for package, path, msg in self.messages():
            if path in OURS_ONLY:
                base, names = OURS_ONLY[path]
                theirs = upstream(package, base)
                self.assertEqual({f.name for f in msg.field}, names)
            else:
                theirs = upstream(package, path)
                self.assertIsNotNone(theirs, "%s.%s is not in TensorBoard" % (package, path))
            for f in msg.field:
                tf = theirs.fields_by_name.get(f.name)
                self.assertIsNotNone(tf, "%s.%s has no field %s upstream" % (package, path, f.name))
                self.assertEqual(tf.number, f.number, (path, f.name))
                self.assertEqual(tf.label, f.label, (path, f.name))
                if path in OURS_ONLY and f.name == "summary":
                    # bytes stands for the message: both are length-delimited
                    self.assertEqual(tf.type, descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE)
                    self.assertEqual(f.type, descriptor_pb2.FieldDescriptorProto.TYPE_BYTES)
                else:
                    self.assertEqual(tf.type, f.type, (path, f.name))
                checked += 1
        self.assertGreater(checked, 60)

    def test_enums_match_upstream(self):
        checked = 0
        for fd in self.fds.file:
            enums = [(None, e) for e in fd.enum_type]
            enums += [(m.name, e) for m in fd.message_type for e in m.enum_type]
            for owner, e in enums:
                theirs = None
                for mod in MODULES[fd.package]:
                    if owner is None and e.name in mod.DESCRIPTOR.enum_types_by_name:
                        theirs = mod.DESCRIPTOR.enum_types_by_name[e.name]
                    elif owner and owner in mod.DESCRIPTOR.message_types_by_name:
                        theirs = mod.DESCRIPTOR.message_types_by_name[owner].enum_types_by_name[e.name]
                self.assertIsNotNone(theirs, e.name)
                for v in e.value:
                    self.assertEqual(theirs.values_by_name[v.name].number, v.number, (e.name, v.name))
                    checked += 1
        self.assertGreater(checked, 30)


if __name__ == "__main__":
    unittest.main(verbosity=2)
