// TensorProto (.pb) and NumPy (.npy) readers/writers.
#include "TensorProtoIO.h"
#include "TestUtil.h"

#include "onnx/onnx.pb.h"

#include <cstdio>
#include <fstream>

using namespace effc;

TEST(TensorIO, ProtoRawAndTypedFields) {
  onnx::TensorProto p;
  p.set_name("t");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(2);
  p.add_float_data(1.5f);
  p.add_float_data(-2);
  auto t = tensorFromProto(p);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{2}));
  EXPECT_FLOAT_EQ(t->data<float>()[1], -2);

  onnx::TensorProto q;
  q.set_data_type(onnx::TensorProto::INT64);
  q.add_dims(1);
  q.add_dims(2);
  int64_t v[2] = {7, -9};
  q.set_raw_data(std::string(reinterpret_cast<char *>(v), 16));
  auto u = tensorFromProto(q);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->data<int64_t>()[1], -9);

  onnx::TensorProto h; // float16 bits live in int32_data
  h.set_data_type(onnx::TensorProto::FLOAT16);
  h.add_dims(1);
  h.add_int32_data(0x3c00);
  auto hv = tensorFromProto(h);
  ASSERT_TRUE(hv.ok());
  EXPECT_EQ(hv->elementAsDouble(0), 1.0);

  onnx::TensorProto b; // bool
  b.set_data_type(onnx::TensorProto::BOOL);
  b.add_dims(3);
  for (int x : {1, 0, 1})
    b.add_int32_data(x);
  auto bv = tensorFromProto(b);
  ASSERT_TRUE(bv.ok());
  EXPECT_EQ(bv->data<uint8_t>()[2], 1);
}

TEST(TensorIO, ProtoErrors) {
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(3);
  p.add_float_data(1);
  auto t = tensorFromProto(p);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("tensor 'w': has 1 values, shape [3] needs 3"),
            std::string::npos);
  p.set_raw_data("abc");
  EXPECT_FALSE(tensorFromProto(p).ok());
  p.set_data_type(onnx::TensorProto::STRING);
  EXPECT_FALSE(tensorFromProto(p).ok());

  std::string path = ::testing::TempDir() + "/garbage.pb";
  std::ofstream(path) << "\xff\xff\xff garbage";
  auto g = readTensorProtoFile(path);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find(path + ": not a valid onnx TensorProto"), std::string::npos);
  std::remove(path.c_str());
}

TEST(TensorIO, NpyRoundTrip) {
  HostTensor t = HostTensor::fromVector<float>(DType::FLOAT32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto back = parseNpy(serializeNpy(t));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->shape(), t.shape());
  EXPECT_EQ(std::memcmp(back->data(), t.data(), t.byteSize()), 0);
  for (DType dt : {DType::INT64, DType::BOOL, DType::FLOAT16, DType::INT8, DType::FLOAT64}) {
    HostTensor z(dt, {4});
    auto r = parseNpy(serializeNpy(z));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->dtype(), dt);
  }
  HostTensor s(DType::INT32, {}); // scalar
  auto r = parseNpy(serializeNpy(s));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->shape().empty());
  HostTensor bf = HostTensor::fromVector<uint16_t>(DType::BFLOAT16, {1}, {0x3f80});
  auto rb = parseNpy(serializeNpy(bf));
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->dtype(), DType::FLOAT32);
  EXPECT_EQ(rb->data<float>()[0], 1.0f);
}

TEST(TensorIO, NpyFromNumpyV1AndV2) {
  // Header text as numpy writes it (v1), and the same with a v2 length field.
  std::string h = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  h.append(128 - 10 - h.size() - 1, ' ');
  h += '\n';
  int64_t vals[3] = {1, -2, 3};
  std::string v1 = std::string("\x93NUMPY\x01\x00", 8) + char(h.size()) + char(0) + h +
                   std::string(reinterpret_cast<char *>(vals), 24);
  auto a = parseNpy(v1);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->data<int64_t>()[1], -2);
  std::string v2 = std::string("\x93NUMPY\x02\x00", 8) + char(h.size()) + std::string(3, '\0') + h +
                   std::string(reinterpret_cast<char *>(vals), 24);
  auto b = parseNpy(v2);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->shape(), (std::vector<int64_t>{3}));
}

TEST(TensorIO, NpyErrors) {
  EXPECT_FALSE(parseNpy("").ok());
  EXPECT_FALSE(parseNpy("not numpy at all").ok());
  std::string good = serializeNpy(HostTensor(DType::FLOAT32, {4}));
  EXPECT_FALSE(parseNpy(good.substr(0, good.size() - 1)).ok()); // data truncated
  EXPECT_FALSE(parseNpy(good.substr(0, 20)).ok());              // header truncated
  std::string be = good;
  be.replace(be.find("<f4"), 3, ">f4");
  auto r = parseNpy(be);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unsupported dtype '>f4'"), std::string::npos);
  std::string fo = good;
  fo.replace(fo.find("False"), 5, "True ");
  EXPECT_FALSE(parseNpy(fo).ok());
  std::string bad = good;
  bad.replace(bad.find("(4,)"), 4, "(x,)");
  EXPECT_FALSE(parseNpy(bad).ok());
  auto missing = readNpyFile("/nonexistent.npy");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent.npy: cannot open"), std::string::npos);
}
