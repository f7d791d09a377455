// A pgjdbc client for pgmask's integration tests (integration/clients_jdbc_test.go).
//
// It connects with the PG* environment variables the test sets, prints what a BI tool
// reads through DatabaseMetaData for one schema, then runs one PreparedStatement with
// an integer parameter as many times as asked, so pgjdbc passes its prepareThreshold
// (5) and switches to a named server-side statement.
//
//   java -cp /usr/share/java/postgresql.jar Main.java SCHEMA SQL EXECUTIONS
//
// (the test compiles it once with javac and runs the class for each role).
//
// Output: one record per line, tab-separated, first field the kind of record:
//   TABLE   schema name type
//   COLUMN  table column TYPE_NAME DATA_TYPE
//   PK      table column KEY_SEQ PK_NAME
//   INDEX   table index column NON_UNIQUE
//   FK      fk_table fk_column pk_table pk_column
//   RSCOL   column type_name class_name              (the statement's ResultSetMetaData)
//   ROW     execution server_prepared value...       (values rendered by their JDBC type)

import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Types;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.postgresql.PGStatement;

public class Main {
    public static void main(String[] args) throws Exception {
        String schema = args[0], sql = args[1];
        int executions = Integer.parseInt(args[2]);
        String url = "jdbc:postgresql://" + System.getenv("PGHOST") + ":" + System.getenv("PGPORT") + "/" + System.getenv("PGDATABASE");
        Properties props = new Properties();
        props.setProperty("user", System.getenv("PGUSER"));
        props.setProperty("password", System.getenv("PGPASSWORD"));
        props.setProperty("sslmode", "disable");
        props.setProperty("ApplicationName", "pgmask-test-jdbc");
        try (Connection conn = DriverManager.getConnection(url, props)) {
            metadata(conn.getMetaData(), schema);
            prepared(conn, sql, executions);
        }
    }

    static void metadata(DatabaseMetaData md, String schema) throws Exception {
        List<String> tables = new ArrayList<>();
        try (ResultSet rs = md.getTables(null, schema, "%", new String[] {"TABLE", "VIEW"})) {
            while (rs.next()) {
                tables.add(rs.getString("TABLE_NAME"));
                print("TABLE", rs.getString("TABLE_SCHEM"), rs.getString("TABLE_NAME"), rs.getString("TABLE_TYPE"));
            }
        }
        try (ResultSet rs = md.getColumns(null, schema, "%", "%")) {
            while (rs.next()) {
                print("COLUMN", rs.getString("TABLE_NAME"), rs.getString("COLUMN_NAME"), rs.getString("TYPE_NAME"), rs.getString("DATA_TYPE"));
            }
        }
        for (String table : tables) {
            try (ResultSet rs = md.getPrimaryKeys(null, schema, table)) {
                while (rs.next()) {
                    print("PK", rs.getString("TABLE_NAME"), rs.getString("COLUMN_NAME"), rs.getString("KEY_SEQ"), rs.getString("PK_NAME"));
                }
            }
            try (ResultSet rs = md.getIndexInfo(null, schema, table, false, false)) {
                while (rs.next()) {
                    if (rs.getShort("TYPE") == DatabaseMetaData.tableIndexStatistic) {
                        continue;
                    }
                    print("INDEX", rs.getString("TABLE_NAME"), rs.getString("INDEX_NAME"), rs.getString("COLUMN_NAME"), rs.getString("NON_UNIQUE"));
                }
            }
            try (ResultSet rs = md.getImportedKeys(null, schema, table)) {
                while (rs.next()) {
                    print("FK", rs.getString("FKTABLE_NAME"), rs.getString("FKCOLUMN_NAME"), rs.getString("PKTABLE_NAME"), rs.getString("PKCOLUMN_NAME"));
                }
            }
        }
    }

    static void prepared(Connection conn, String sql, int executions) throws Exception {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 1; i <= executions; i++) {
                boolean serverPrepared = ps.unwrap(PGStatement.class).isUseServerPrepare();
                ps.setLong(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    ResultSetMetaData rmd = rs.getMetaData();
                    if (i == 1) {
                        for (int c = 1; c <= rmd.getColumnCount(); c++) {
                            print("RSCOL", rmd.getColumnName(c), rmd.getColumnTypeName(c), rmd.getColumnClassName(c));
                        }
                    }
                    while (rs.next()) {
                        List<String> f = new ArrayList<>();
                        f.add(Integer.toString(i));
                        f.add(Boolean.toString(serverPrepared));
                        for (int c = 1; c <= rmd.getColumnCount(); c++) {
                            f.add(render(rs, c, rmd.getColumnType(c)));
                        }
                        print("ROW", f.toArray(new String[0]));
                    }
                }
            }
        }
    }

    // render reads a column with the getter of its JDBC type, so a value that does not
    // decode as its declared type fails here.
    static String render(ResultSet rs, int c, int type) throws Exception {
        switch (type) {
            case Types.DATE: {
                java.sql.Date d = rs.getDate(c);
                if (d == null) return "NULL";
                LocalDate ld = d.toLocalDate();
                return "date:" + ld;
            }
            case Types.TIMESTAMP: {
                java.sql.Timestamp ts = rs.getTimestamp(c);
                return ts == null ? "NULL" : "timestamp:" + ts.toInstant();
            }
            case Types.BIGINT: {
                long v = rs.getLong(c);
                return rs.wasNull() ? "NULL" : "long:" + v;
            }
            case Types.NUMERIC: {
                BigDecimal v = rs.getBigDecimal(c);
                return v == null ? "NULL" : "decimal:" + v.toPlainString();
            }
            case Types.ARRAY: {
                Array a = rs.getArray(c);
                return a == null ? "NULL" : "array:" + String.join(",", (String[]) a.getArray());
            }
            default: {
                String s = rs.getString(c);
                return s == null ? "NULL" : "string:" + s;
            }
        }
    }

    static void print(String kind, String... fields) {
        StringBuilder b = new StringBuilder(kind);
        for (String f : fields) {
            b.append('\t').append(f == null ? "NULL" : f.replace('\t', ' ').replace('\n', ' '));
        }
        System.out.println(b);
    }
}
