using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using ActorLab.Model.Common;
using static TorchSharp.torch;

namespace ActorLab.Model.Probes;

/// <summary>
/// Minimal safetensors (https://github.com/huggingface/safetensors) writer and reader for CPU tensors of
/// float64, float32 and int64: 8-byte little-endian header length, a JSON header {name: {dtype, shape,
/// data_offsets}, "__metadata__": {string: string}}, then the raw little-endian bytes. Python reads the
/// probes with `safetensors.torch.load_file`.
/// </summary>
public static class SafeTensors
{
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, t) in tensors.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var (code, bytes) = Bytes(t);
            header[name] = new { dtype = code, shape = t.shape, data_offsets = new[] { offset, offset + bytes.Length } };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        // Pad the header with spaces to an 8-byte boundary, as the reference implementation does.
        var padded = new byte[(json.Length + 7) / 8 * 8];
        Array.Fill(padded, (byte)' ');
        json.CopyTo(padded, 0);
        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded.Length);
            s.Write(len);
            s.Write(padded);
            foreach (var b in blobs) s.Write(b);
        });
    }

    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        if (!File.Exists(path)) throw new UserInputException($"Weights file '{path}' does not exist.");
        var all = File.ReadAllBytes(path);
        if (all.Length < 8) throw new UserInputException($"'{path}' is not a safetensors file (too short).");
        var n = (long)BinaryPrimitives.ReadUInt64LittleEndian(all);
        if (n <= 0 || 8 + n > all.Length) throw new UserInputException($"'{path}' is not a safetensors file (bad header length).");
        using var doc = JsonDocument.Parse(all.AsMemory(8, (int)n));
        var tensors = new Dictionary<string, Tensor>();
        var meta = new Dictionary<string, string>();
        var dataStart = 8 + (int)n;
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                foreach (var m in p.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            var dtype = p.Value.GetProperty("dtype").GetString();
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offs = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var span = all.AsSpan(dataStart + (int)offs[0], (int)(offs[1] - offs[0]));
            tensors[p.Name] = dtype switch
            {
                "F64" => tensor(Decode(span, 8, BinaryPrimitives.ReadDoubleLittleEndian), shape),
                "F32" => tensor(Decode(span, 4, BinaryPrimitives.ReadSingleLittleEndian), shape),
                "I64" => tensor(Decode(span, 8, BinaryPrimitives.ReadInt64LittleEndian), shape),
                _ => throw new UserInputException($"'{path}': tensor '{p.Name}' has unsupported dtype {dtype}."),
            };
        }
        return (tensors, meta);
    }

    delegate T Reader<T>(ReadOnlySpan<byte> s);

    static T[] Decode<T>(ReadOnlySpan<byte> span, int size, Reader<T> read)
    {
        var a = new T[span.Length / size];
        for (int i = 0; i < a.Length; i++) a[i] = read(span.Slice(i * size, size));
        return a;
    }

    static (string Code, byte[] Bytes) Bytes(Tensor t)
    {
        using var c = t.detach().cpu().contiguous();
        switch (c.dtype)
        {
            case ScalarType.Float64:
            {
                var v = c.data<double>().ToArray(); var b = new byte[v.Length * 8];
                for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(i * 8), v[i]);
                return ("F64", b);
            }
            case ScalarType.Float32:
            {
                var v = c.data<float>().ToArray(); var b = new byte[v.Length * 4];
                for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), v[i]);
                return ("F32", b);
            }
            case ScalarType.Int64:
            {
                var v = c.data<long>().ToArray(); var b = new byte[v.Length * 8];
                for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(i * 8), v[i]);
                return ("I64", b);
            }
            default:
                throw new ArgumentException($"safetensors writer supports F64, F32 and I64, not {c.dtype}");
        }
    }
}
