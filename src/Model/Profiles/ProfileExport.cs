using System.Text;
using System.Text.Json;
using ActorLab.Model.Common;

namespace ActorLab.Model.Profiles;

/// <summary>
/// Text exports of a profiles database, one profile a line, with the parquet's field names: JSON Lines (relations
/// as {"name", "index"} objects) or CSV (relations as two columns `{relation}.name`, `{relation}.index`).
/// birth_date is YYYY-MM-DD. Written atomically.
/// </summary>
public static class ProfileExport
{
    public static void WriteJsonl(ProfileDatabase db, string path) => AtomicFile.Write(path, stream =>
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true });
        var newline = "\n"u8.ToArray();
        for (int i = 0; i < db.Count; i++)
        {
            json.WriteStartObject();
            json.WriteString(ProfileParquet.Name, db.Names[i]);
            json.WriteNumber(ProfileParquet.Index, i);
            json.WriteString(AttributeNames.BirthDate, db.BirthDateText(i));
            json.WriteString(AttributeNames.BirthCity, db.BirthCities[i]);
            json.WriteString(AttributeNames.University, db.Universities[i]);
            json.WriteString(AttributeNames.Employer, db.Employers[i]);
            for (int r = 0; r < db.RelationCount; r++)
            {
                int t = db.RelationTargets[r][i];
                json.WriteStartObject(RelationNames.All[r]);
                json.WriteString(ProfileParquet.Name, db.Names[t]);
                json.WriteNumber(ProfileParquet.Index, t);
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.Flush();
            stream.Write(newline);
            json.Reset(stream);
        }
    });

    public static void WriteCsv(ProfileDatabase db, string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        var header = new List<string> { ProfileParquet.Name, ProfileParquet.Index };
        header.AddRange(AttributeNames.All);
        for (int r = 0; r < db.RelationCount; r++)
        {
            header.Add($"{RelationNames.All[r]}.{ProfileParquet.Name}");
            header.Add($"{RelationNames.All[r]}.{ProfileParquet.Index}");
        }
        w.WriteLine(string.Join(',', header));
        var row = new List<string>(header.Count);
        for (int i = 0; i < db.Count; i++)
        {
            row.Clear();
            row.Add(Csv(db.Names[i]));
            row.Add(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            row.Add(db.BirthDateText(i));
            row.Add(Csv(db.BirthCities[i]));
            row.Add(Csv(db.Universities[i]));
            row.Add(Csv(db.Employers[i]));
            for (int r = 0; r < db.RelationCount; r++)
            {
                int t = db.RelationTargets[r][i];
                row.Add(Csv(db.Names[t]));
                row.Add(t.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            w.WriteLine(string.Join(',', row));
        }
    });

    /// <summary>RFC 4180 quoting: fields with a comma, quote or newline are quoted, quotes doubled.</summary>
    static string Csv(string v) =>
        v.AsSpan().IndexOfAny(",\"\n\r") < 0 ? v : "\"" + v.Replace("\"", "\"\"") + "\"";
}
