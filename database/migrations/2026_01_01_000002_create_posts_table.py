"""Create the posts table."""

from kitgen import Database, Migration


class CreatePostsTable(Migration):
    model = "Post"

    def up(self, db: Database) -> None:
        db.executescript(
            """
            CREATE TABLE posts (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL,
                title TEXT NOT NULL,
                body TEXT NOT NULL,
                published_at INTEGER,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                FOREIGN KEY (user_id) REFERENCES users(id)
            );
            CREATE INDEX posts_user_id_index ON posts (user_id);
            """
        )

    def down(self, db: Database) -> None:
        db.execute("DROP TABLE posts")
