using Google.Protobuf;

namespace ActorLab.Model.Tests.Training;

/// <summary>Reads TensorBoard event files back (the TFRecord framing and the Event/Summary protobuf fields), for tests.</summary>
public static class TensorBoardEvents
{
    public readonly record struct Scalar(string Tag, long Step, float Value);

    public static List<Scalar> Read(string dir)
    {
        var scalars = new List<Scalar>();
        foreach (var file in Directory.GetFiles(dir, "events.out.tfevents.*", SearchOption.AllDirectories).Order())
        {
            using var r = new BinaryReader(File.OpenRead(file));
            while (r.BaseStream.Position < r.BaseStream.Length)
            {
                var length = r.ReadInt64();
                r.ReadUInt32();                       // masked CRC of the length
                var data = r.ReadBytes(checked((int)length));
                r.ReadUInt32();                       // masked CRC of the data
                scalars.AddRange(Event(data));
            }
        }
        return scalars;
    }

    // Event: wall_time = 1 (double), step = 2 (int64), file_version = 3, summary = 5 { repeated value = 1 { tag = 1, simple_value = 2 (float) } }
    static IEnumerable<Scalar> Event(byte[] data)
    {
        long step = 0;
        var values = new List<(string, float)>();
        var input = new CodedInputStream(data);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 2: step = input.ReadInt64(); break;
                case 5: values.AddRange(Summary(input.ReadBytes())); break;
                default: input.SkipLastField(); break;
            }
        }
        return values.Select(v => new Scalar(v.Item1, step, v.Item2));
    }

    static IEnumerable<(string, float)> Summary(ByteString bytes)
    {
        var input = new CodedInputStream(bytes.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != 1) { input.SkipLastField(); continue; }
            var value = new CodedInputStream(input.ReadBytes().ToByteArray());
            string name = "";
            float x = float.NaN;
            uint t;
            while ((t = value.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(t))
                {
                    case 1: name = value.ReadString(); break;
                    case 2: x = value.ReadFloat(); break;
                    default: value.SkipLastField(); break;
                }
            }
            yield return (name, x);
        }
    }
}
