using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>
/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header mapping
/// names to {dtype, shape, data_offsets} (plus optional string "__metadata__"), then the raw little-endian bytes.
/// Used for checkpoints (weights, optimiser buffers) and for the HF export.
/// </summary>
public static class Safetensors
{
    static string DtypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Byte => "U8",
        _ => throw new NotSupportedException($"safetensors: dtype {t} not supported"),
    };

    static ScalarType Dtype(string name) => name switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "U8" => ScalarType.Byte,
        _ => throw new InvalidDataException($"safetensors: dtype {name} not supported"),
    };

    static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 => 2,
        _ => 1,
    };

    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.Select(kv => (kv.Key, T: kv.Value.detach().cpu().contiguous())).ToList();
        try
        {
            var header = new JsonObject();
            if (metadata is { Count: > 0 })
            {
                var meta = new JsonObject();
                foreach (var (k, v) in metadata) meta[k] = v;
                header["__metadata__"] = meta;
            }
            long offset = 0;
            foreach (var (name, t) in items)
            {
                var size = t.numel() * t.ElementSize;
                header[name] = new JsonObject
                {
                    ["dtype"] = DtypeName(t.dtype),
                    ["shape"] = new JsonArray(t.shape.Select(s => (JsonNode)s).ToArray()),
                    ["data_offsets"] = new JsonArray(offset, offset + size),
                };
                offset += size;
            }
            var json = Encoding.UTF8.GetBytes(header.ToJsonString());
            var padded = (json.Length + 7) / 8 * 8;
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            stream.Write(len);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var (_, t) in items)
                if (t.numel() > 0) stream.Write(t.bytes);
        }
        finally
        {
            foreach (var (_, t) in items) t.Dispose();
        }
    }

    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Common.AtomicFile.Write(path, s => Write(s, tensors, metadata));

    /// <summary>Reads every tensor onto the CPU. Throws InvalidDataException on a malformed file.</summary>
    public static Dictionary<string, Tensor> Read(string path, out Dictionary<string, string> metadata)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path}: too short for safetensors");
        var headerLen = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen < 2 || 8 + headerLen > bytes.Length) throw new InvalidDataException($"{path}: bad safetensors header length");
        JsonObject header;
        try { header = JsonNode.Parse(bytes.AsSpan(8, (int)headerLen))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: bad safetensors header (not a JSON object)");
        }
        var dataStart = 8 + headerLen;
        metadata = new Dictionary<string, string>();
        var result = new Dictionary<string, Tensor>();
        long dataLength = bytes.Length - dataStart;
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (k, v) in node!.AsObject()) metadata[k] = v!.GetValue<string>();
                    continue;
                }
                // validate everything the header claims before allocating: a header can claim any shape
                var o = node!.AsObject();
                var dtype = Dtype(o["dtype"]!.GetValue<string>());
                var shape = o["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                var offs = o["data_offsets"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                if (shape.Any(s => s < 0) || offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLength)
                    throw new InvalidDataException($"{path}: tensor '{name}' has a bad shape or offsets");
                long numel = 1;
                foreach (var dim in shape) numel = checked(numel * dim);
                var size = checked(numel * ElementSize(dtype));
                if (offs[1] - offs[0] != size)
                    throw new InvalidDataException($"{path}: tensor '{name}' has inconsistent offsets");
                var t = empty(shape, dtype);
                if (size > 0) t.bytes = bytes.AsSpan((int)(dataStart + offs[0]), (int)size);
                result[name] = t;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or NullReferenceException or ArgumentException)
        {
            foreach (var t in result.Values) t.Dispose();
            throw new InvalidDataException($"{path}: malformed safetensors header ({e.GetType().Name})");
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }
}
