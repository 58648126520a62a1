// MSBuild inline task: marks one GLIBCXX version requirement of libLibTorchSharp.so weak when the
// system libstdc++ does not provide it. ELF64 little-endian only (linux-x64, linux-arm64).
using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenGlibcxxRequirement : Task
{
    [Required] public string Directory { get; set; } = "";
    [Required] public string Version { get; set; } = "";

    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    static readonly string[] LibstdcxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/libstdc++.so.6",
    };

    public override bool Execute()
    {
        var libs = System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories)
            : Array.Empty<string>();
        if (libs.Length == 0) return true;
        if (SystemHasVersion())
        {
            Log.LogMessage(MessageImportance.Low, $"System libstdc++ provides {Version}; libLibTorchSharp.so left as is.");
            return true;
        }
        foreach (var lib in libs)
        {
            try
            {
                var changed = Weaken(lib, Version);
                Log.LogMessage(MessageImportance.Normal,
                    changed ? $"Marked {Version} weak in {lib} (system libstdc++ lacks it)." : $"{lib}: {Version} already weak or not required.");
            }
            catch (Exception e)
            {
                Log.LogWarning($"Could not weaken {Version} in {lib}: {e.Message}");
            }
        }
        return true;
    }

    bool SystemHasVersion()
    {
        var needle = Encoding.ASCII.GetBytes(Version + "\0");
        foreach (var path in LibstdcxxCandidates)
        {
            if (!File.Exists(path)) continue;
            var bytes = File.ReadAllBytes(path);
            if (IndexOf(bytes, needle) >= 0) return true;
            return false; // first libstdc++ found is the one the loader uses
        }
        return true; // no libstdc++ we recognise: do not touch anything
    }

    static int IndexOf(byte[] hay, byte[] needle)
    {
        for (int i = 0; i <= hay.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    // Returns true when the file was changed. Writes a temp file and renames it over the original.
    public static bool Weaken(string path, string version)
    {
        var b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (b[4] != 2 || b[5] != 1) throw new InvalidDataException("not ELF64 little-endian");
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        bool changed = false;
        for (int s = 0; s < shnum; s++)
        {
            long sh = shoff + (long)s * shentsize;
            uint type = BitConverter.ToUInt32(b, (int)sh + 4);
            if (type != ShtGnuVerneed) continue;
            long off = BitConverter.ToInt64(b, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28);
            int count = (int)BitConverter.ToUInt32(b, (int)sh + 0x2C);
            long strOff = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            long vn = off;
            for (int i = 0; i < count; i++)
            {
                int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                    uint name = BitConverter.ToUInt32(b, (int)aux + 8);
                    if (ReadCString(b, strOff + name) == version && (flags & VerFlgWeak) == 0)
                    {
                        var nf = BitConverter.GetBytes((ushort)(flags | VerFlgWeak));
                        b[aux + 4] = nf[0]; b[aux + 5] = nf[1];
                        changed = true;
                    }
                    aux += BitConverter.ToUInt32(b, (int)aux + 12);
                }
                vn += BitConverter.ToUInt32(b, (int)vn + 12);
            }
        }
        if (!changed) return false;
        var tmp = path + ".weaken.tmp";
        File.WriteAllBytes(tmp, b);
        File.Replace(tmp, path, null); // atomic rename over the original
        return true;
    }

    static string ReadCString(byte[] b, long at)
    {
        long end = at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
    }
}
